import { usePageTitle } from '../components/ui.tsx';

export function PrivacyPage() {
  usePageTitle('Privacy');
  return (
    <article className="prose narrow">
      <h1>Privacy</h1>
      <p>
        ViolaWake Console is self-hostable: when you run it yourself, your data stays on your server. This
        page describes what the console stores and for how long.
      </p>
      <h2>What we store</h2>
      <ul>
        <li>Your account: email address, name and a salted argon2id hash of your password.</li>
        <li>
          Your recordings: short 16 kHz mono clips of your wake word. They are used only to train your models
          and are deleted 24 hours after a successful training, and in any case after 90 days.
        </li>
        <li>Your models and their evaluation metrics, kept until you delete them (at most 365 days).</li>
        <li>
          Billing: the payment provider (Stripe) holds your card details; we keep only customer and
          subscription ids.
        </li>
      </ul>
      <h2>What happens in your browser</h2>
      <p>
        The live test runs the detector entirely in your browser. Microphone audio during a live test never
        leaves your device. Recording takes are uploaded only when you choose to upload them.
      </p>
      <h2>Training</h2>
      <p>
        Training happens on the server, offline: no recording or text is sent to any third-party service.
        Synthetic speech used for training is generated locally.
      </p>
      <h2>Your choices</h2>
      <p>
        You can download your models, delete recordings and models, and delete your account at any time from{' '}
        <a href="/account">Account settings</a>. Deleting the account cancels any subscription and removes all
        your data.
      </p>
    </article>
  );
}

export function TermsPage() {
  usePageTitle('Terms');
  return (
    <article className="prose narrow">
      <h1>Terms of service</h1>
      <p>By creating an account you agree to these terms.</p>
      <h2>Your content</h2>
      <p>
        You keep all rights to your recordings and to the models trained from them. Only record voices you
        have permission to record.
      </p>
      <h2>Models and licences</h2>
      <p>
        Trained models are yours to use, including commercially. The bundled front-end feature models
        (melspectrogram and embedding) come from the openWakeWord project under their own licences, which are
        listed in every model bundle&apos;s README.
      </p>
      <h2>Plans and billing</h2>
      <p>
        Paid plans renew monthly until cancelled from the billing portal. Training quotas reset at the start
        of each UTC calendar month; failed trainings that were not your fault are not counted.
      </p>
      <h2>Acceptable use</h2>
      <p>
        Do not use the service to build systems that record people without their knowledge, or to overload the
        service.
      </p>
      <h2>No warranty</h2>
      <p>
        The service is provided as is. Wake-word detection is statistical: always check the measured miss and
        false-accept rates shown for each model before relying on it.
      </p>
    </article>
  );
}
