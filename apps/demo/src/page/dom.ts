// Small DOM helpers: typed lookups that fail loudly when the page and the code disagree.

/** The element with this id, of this type. */
export function byId<T extends HTMLElement = HTMLElement>(
  id: string,
  type: abstract new () => T = HTMLElement as unknown as abstract new () => T,
): T {
  const element = document.getElementById(id);
  if (!(element instanceof type)) throw new Error(`#${id} is missing from the page`);
  return element;
}

/** Runs an async action from an event handler, reporting a failure instead of losing it. */
export function run(action: () => Promise<void>, report: (message: string) => void): void {
  action().catch((error: unknown) => {
    report(error instanceof Error ? error.message : String(error));
  });
}

/** Offers bytes as a download named `name`. */
export function download(data: Uint8Array | string, name: string, type: string): void {
  const url = URL.createObjectURL(new Blob([data as BlobPart], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * Shows the hint after a sideways-scrolling box (a wide table on a phone) only while the box has
 * more to scroll to; the box's edge shadows (style.css) are the other cue.
 */
export function scrollCues(): void {
  for (const box of document.querySelectorAll<HTMLElement>('.table-scroll')) {
    const hint = box.nextElementSibling;
    const update = () => {
      const overflowing = box.scrollWidth > box.clientWidth + 1;
      box.dataset.overflowing = String(overflowing);
      if (hint instanceof HTMLElement && hint.classList.contains('scroll-hint'))
        hint.hidden = !overflowing;
    };
    new ResizeObserver(update).observe(box);
    update();
  }
}
