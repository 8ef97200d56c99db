import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { ParleyClient } from '../../core/realtime/client';
import type { WebConfig } from '../../core/web/config';
import type { Api } from './api';
import type { Auth } from './auth';

export interface AppServices {
  config: WebConfig;
  auth: Auth;
  api: Api;
  client: ParleyClient;
  userId: string;
}

export const AppContext = createContext<AppServices | undefined>(undefined);

export function useApp(): AppServices {
  const app = useContext(AppContext);
  if (!app) throw new Error('useApp outside AppContext');
  return app;
}
