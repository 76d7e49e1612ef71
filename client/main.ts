/// <reference types="vite/client" />
/**
 * The keel client page: a thin shell over runtime/browser. Query parameters:
 *   scene   name of a scene in the scenes folder (required), e.g. ?scene=arena
 *   server  ws:// address of a keel server to join; without it the page plays the scene locally
 *   name    player name sent to the server
 */
import { ClientApp } from '../runtime/browser/app/client-app.js';

const container = document.getElementById('app')!;
const app = new ClientApp({ container, params: new URLSearchParams(location.search), hot: import.meta.hot });
void app.start();
