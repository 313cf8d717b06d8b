import { useEffect } from 'react';
import { Route, Routes, useLocation } from 'react-router-dom';
import { Layout, RequireAuth } from './components/Layout.tsx';
import { AcceptInvitePage } from './pages/AcceptInvite.tsx';
import { AccountPage } from './pages/Account.tsx';
import {
  ForgotPasswordPage,
  LoginPage,
  RegisterPage,
  ResetPasswordPage,
  VerifyEmailPage,
} from './pages/Auth.tsx';
import { BillingPage } from './pages/Billing.tsx';
import { DashboardPage } from './pages/Dashboard.tsx';
import { LandingPage } from './pages/Landing.tsx';
import { PrivacyPage, TermsPage } from './pages/Legal.tsx';
import { ModelPage } from './pages/Model.tsx';
import { NotFoundPage } from './pages/NotFound.tsx';
import { PricingPage } from './pages/Pricing.tsx';
import { RecordPage } from './pages/Record.tsx';
import { RecordingsPage } from './pages/Recordings.tsx';
import { TeamPage, TeamsPage } from './pages/Teams.tsx';
import { TrainingPage } from './pages/Training.tsx';

function FocusOnNavigate() {
  const { pathname } = useLocation();
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs on every navigation (pathname is the trigger)
  useEffect(() => {
    window.scrollTo(0, 0);
    document.getElementById('main')?.focus({ preventScroll: true });
  }, [pathname]);
  return null;
}

export function App() {
  return (
    <>
      <FocusOnNavigate />
      <Routes>
        <Route element={<Layout />}>
          <Route index element={<LandingPage />} />
          <Route path="pricing" element={<PricingPage />} />
          <Route path="register" element={<RegisterPage />} />
          <Route path="login" element={<LoginPage />} />
          <Route path="verify-email" element={<VerifyEmailPage />} />
          <Route path="forgot-password" element={<ForgotPasswordPage />} />
          <Route path="reset-password" element={<ResetPasswordPage />} />
          <Route path="privacy" element={<PrivacyPage />} />
          <Route path="terms" element={<TermsPage />} />
          <Route element={<RequireAuth />}>
            <Route path="dashboard" element={<DashboardPage />} />
            <Route path="record" element={<RecordPage />} />
            <Route path="recordings" element={<RecordingsPage />} />
            <Route path="training/:jobId" element={<TrainingPage />} />
            <Route path="models/:modelId" element={<ModelPage />} />
            <Route path="teams" element={<TeamsPage />} />
            <Route path="teams/:teamId" element={<TeamPage />} />
            <Route path="teams/:teamId/join" element={<AcceptInvitePage />} />
            <Route path="teams/invitations/accept" element={<AcceptInvitePage />} />
            <Route path="billing" element={<BillingPage />} />
            <Route path="account" element={<AccountPage />} />
          </Route>
          <Route path="*" element={<NotFoundPage />} />
        </Route>
      </Routes>
    </>
  );
}
