import { Link } from 'react-router-dom';
import { useAuth } from '../auth/AuthContext.tsx';
import { usePageTitle } from '../components/ui.tsx';

export function LandingPage() {
  usePageTitle('Your own wake word');
  const { user } = useAuth();
  return (
    <>
      <section className="hero">
        <h1>Your own wake word, trained in under a minute</h1>
        <p className="lead">
          Say it ten times in your browser — or just type it — and ViolaWake trains a small
          openWakeWord-compatible model on the server, offline. Test it live with your microphone, then
          download it for Python, Home Assistant or the browser.
        </p>
        <div className="hero-actions">
          {user ? (
            <>
              <Link className="button button-large" to="/record">
                Create a wake word
              </Link>
              <Link className="button button-large button-secondary" to="/dashboard">
                Go to dashboard
              </Link>
            </>
          ) : (
            <>
              <Link className="button button-large" to="/register">
                Create a free account
              </Link>
              <Link className="button button-large button-secondary" to="/pricing">
                See plans
              </Link>
            </>
          )}
        </div>
      </section>
      <section className="steps" aria-labelledby="how">
        <h2 id="how">How it works</h2>
        <ol className="step-grid">
          <li className="card">
            <h3>1. Record</h3>
            <p>Ten short takes of your phrase, with checks for silence, clipping and noise after each one.</p>
          </li>
          <li className="card">
            <h3>2. Train</h3>
            <p>
              The server adds synthetic voices and confusable words, trains and calibrates a model, and grades
              it A–D.
            </p>
          </li>
          <li className="card">
            <h3>3. Test live</h3>
            <p>
              Run the model in your browser on your microphone and watch the score. Nothing leaves your
              device.
            </p>
          </li>
          <li className="card">
            <h3>4. Download</h3>
            <p>
              ONNX head, manifest with the calibrated threshold, or a bundle with everything needed to run it.
            </p>
          </li>
        </ol>
      </section>
      <section className="features" aria-labelledby="why">
        <h2 id="why">Why ViolaWake</h2>
        <ul className="feature-list">
          <li>
            <strong>Honest numbers.</strong> Every model is evaluated on held-out audio: miss rate at a
            calibrated threshold, false accepts per hour and d′.
          </li>
          <li>
            <strong>Private.</strong> Self-hostable; training runs offline; the live test runs in the browser.
          </li>
          <li>
            <strong>Compatible.</strong> Heads follow openWakeWord&apos;s contract, so they run wherever
            openWakeWord does.
          </li>
        </ul>
      </section>
    </>
  );
}
