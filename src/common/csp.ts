// The app's Content-Security-Policy: the same for the desktop window and the local web host.
export const APP_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // xterm.js and uPlot set element styles at run time.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
