// Sandboxed preload (built as CommonJS): exposes window.prs and nothing else.
import { contextBridge, ipcRenderer } from 'electron';
import { makeBridge } from './bridge';

contextBridge.exposeInMainWorld('prs', makeBridge(ipcRenderer));
