// systeminformation is large (~750 KB of code): loaded on first use, so a command that does not
// need it (prs validate, prs history) and a Linux run that reads /proc do not pay for parsing it.
type SystemInformation = typeof import('systeminformation');

let loading: Promise<SystemInformation> | undefined;

export function systemInformation(): Promise<SystemInformation> {
  loading ??= import('systeminformation').then(
    (m) => ((m as { default?: SystemInformation }).default ?? m) as SystemInformation,
  );
  return loading;
}
