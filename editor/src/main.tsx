/// <reference types="vite/client" />
/**
 * The keel editor page. Without `?scene=` it lists the scenes of the folder; with
 * `?scene=<name>` it opens that scene.
 */
import { render } from 'preact';
import { App } from './app.js';

render(<App params={new URLSearchParams(location.search)} hot={import.meta.hot} />, document.getElementById('app')!);
