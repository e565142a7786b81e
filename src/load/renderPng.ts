/**
 * Optional PNG of an SVG plot, with the first converter found: rsvg-convert (librsvg2-bin),
 * ImageMagick's convert, or headless Chromium. None is required: without one, only the SVG/HTML exist.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Pixel size of the page Chromium screenshots (the other converters take the SVG's own size). */
export interface PngSize {
  width: number;
  height: number;
}

interface Converter {
  name: string;
  available(): boolean;
  args(svgPath: string, pngPath: string, size: PngSize): [string, string[]];
}

function runs(command: string, args: string[], expect?: RegExp): boolean {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 10_000 });
  return result.status === 0 && (expect === undefined || expect.test(`${result.stdout}${result.stderr}`));
}

const CONVERTERS: Converter[] = [
  {
    name: 'rsvg-convert',
    available: () => runs('rsvg-convert', ['--version']),
    args: (svg, png) => ['rsvg-convert', ['--background-color', 'white', '-o', png, svg]],
  },
  // Only the real ImageMagick: some machines have a `convert` stand-in that cannot read SVG.
  {
    name: 'ImageMagick convert',
    available: () => runs('convert', ['-version'], /^Version: ImageMagick/m),
    args: (svg, png) => ['convert', [svg, png]],
  },
  ...['chromium', 'chromium-browser', 'google-chrome'].map((binary): Converter => ({
    name: binary,
    available: () => runs(binary, ['--version']),
    args: (svg, png, size) => [
      binary,
      [
        '--headless',
        '--disable-gpu',
        '--no-sandbox',
        '--hide-scrollbars',
        `--screenshot=${png}`,
        `--window-size=${size.width},${size.height}`,
        `file://${svg}`,
      ],
    ],
  })),
];

let found: Converter | null | undefined;

/**
 * Converts `svgPath` (absolute) to `pngPath`; returns the converter used, or undefined when none is
 * installed or it failed. `size`: the SVG's width and height (default 900 x 560, the load tool's plots).
 */
export function renderPng(
  svgPath: string,
  pngPath: string,
  size: PngSize = { width: 900, height: 560 },
): string | undefined {
  if (found === undefined) found = CONVERTERS.find((converter) => converter.available()) ?? null;
  if (found === null) return undefined;
  const [command, args] = found.args(svgPath, pngPath, size);
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 60_000 });
  return result.status === 0 && existsSync(pngPath) ? found.name : undefined;
}
