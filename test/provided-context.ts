/** Values the global setups hand to tests (vitest `provide` / `inject`). */
declare module "vitest" {
  export interface ProvidedContext {
    /** e2e: base URL of the worker under wrangler dev. */
    serviceUrl: string;
    bridgeUrl: string;
    bridgeToken: string;
    emulatorUrl: string;
    /** pool: the emulator's realtime WebSocket URL. */
    emulatorWsUrl: string;
  }
}
export {};
