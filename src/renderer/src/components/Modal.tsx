// A dialog over the page: it takes the focus when it opens (so the keyboard is in it, not behind
// it), Escape closes it, and the focus goes back where it was when it closes.

import { useEffect, useRef, type ReactNode } from 'react';

export function Modal({
  label,
  onClose,
  className,
  testId,
  children,
}: {
  label: string;
  onClose(): void;
  className?: string;
  testId?: string;
  children: ReactNode;
}) {
  const body = useRef<HTMLDivElement>(null);
  const close = useRef(onClose);
  close.current = onClose;
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    // The first field or button, else the dialog itself (tabIndex -1 makes it focusable).
    const first = body.current?.querySelector<HTMLElement>('input, select, textarea, button');
    (first ?? body.current)?.focus();
    return () => before?.focus?.();
  }, []);
  return (
    <div
      className="modal"
      role="dialog"
      aria-modal="true"
      aria-label={label}
      data-testid={testId}
      onKeyDown={(e) => {
        if (e.key !== 'Escape') return;
        e.stopPropagation();
        close.current();
      }}
    >
      <div ref={body} tabIndex={-1} className={className ? `modal-body ${className}` : 'modal-body'}>
        {children}
      </div>
    </div>
  );
}
