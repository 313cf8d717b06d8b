import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { api, getToken, onUnauthorized, setToken } from '../api/client.ts';
import type { AuthResponse, UserOut } from '../api/types.ts';

interface AuthState {
  user: UserOut | null;
  token: string | null;
  loading: boolean;
  /** Set when the last session ended because the server rejected the token. */
  expired: boolean;
  /** Set when the user signed out on purpose (signed-in pages then go to /login without a `next`). */
  signedOut: boolean;
  signIn: (res: AuthResponse) => Promise<void>;
  /** Replace the token only (after a password change). */
  replaceToken: (token: string) => void;
  signOut: (options?: { everywhere?: boolean }) => Promise<void>;
  clear: () => void;
  refresh: () => Promise<void>;
}

const AuthContext = createContext<AuthState | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [token, setTokenState] = useState<string | null>(() => getToken());
  const [user, setUser] = useState<UserOut | null>(null);
  const [loading, setLoading] = useState<boolean>(() => getToken() !== null);
  const [expired, setExpired] = useState(false);
  const [signedOut, setSignedOut] = useState(false);

  const clear = useCallback(() => {
    setToken(null);
    setTokenState(null);
    setUser(null);
  }, []);

  const refresh = useCallback(async () => {
    if (!getToken()) {
      setUser(null);
      setLoading(false);
      return;
    }
    try {
      setUser(await api<UserOut>('/api/auth/me'));
    } catch {
      // 401 is handled by the unauthorized listener; other errors keep the session.
    } finally {
      setLoading(false);
    }
  }, []);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  useEffect(
    () =>
      onUnauthorized(() => {
        setExpired(true);
        clear();
      }),
    [clear],
  );

  const signIn = useCallback(async (res: AuthResponse) => {
    setToken(res.token);
    setTokenState(res.token);
    setExpired(false);
    setSignedOut(false);
    setUser({ ...res.user, created_at: new Date().toISOString() });
    try {
      setUser(await api<UserOut>('/api/auth/me'));
    } catch {
      /* keep the user from the auth response */
    }
  }, []);

  const replaceToken = useCallback((next: string) => {
    setToken(next);
    setTokenState(next);
  }, []);

  const signOut = useCallback(
    async (options?: { everywhere?: boolean }) => {
      // End the local session first, so no page acts on a session that is going away; then revoke it.
      const previous = getToken();
      setExpired(false);
      setSignedOut(true);
      clear();
      if (!previous) return;
      try {
        await api(options?.everywhere ? '/api/auth/logout-all' : '/api/auth/logout', {
          method: 'POST',
          auth: false,
          headers: { Authorization: `Bearer ${previous}` },
        });
      } catch {
        /* the local session has ended either way */
      }
    },
    [clear],
  );

  const value = useMemo(
    () => ({ user, token, loading, expired, signedOut, signIn, replaceToken, signOut, clear, refresh }),
    [user, token, loading, expired, signedOut, signIn, replaceToken, signOut, clear, refresh],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error('useAuth outside AuthProvider');
  return ctx;
}
