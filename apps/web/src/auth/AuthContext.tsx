import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { api, getToken, onUnauthorized, setToken } from '../api/client.ts';
import type { AuthResponse, UserOut } from '../api/types.ts';

interface AuthState {
  user: UserOut | null;
  token: string | null;
  loading: boolean;
  /** Set when the last session ended because the server rejected the token. */
  expired: boolean;
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
      try {
        await api(options?.everywhere ? '/api/auth/logout-all' : '/api/auth/logout', { method: 'POST' });
      } catch {
        /* the local session ends either way */
      }
      setExpired(false);
      clear();
    },
    [clear],
  );

  const value = useMemo(
    () => ({ user, token, loading, expired, signIn, replaceToken, signOut, clear, refresh }),
    [user, token, loading, expired, signIn, replaceToken, signOut, clear, refresh],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error('useAuth outside AuthProvider');
  return ctx;
}
