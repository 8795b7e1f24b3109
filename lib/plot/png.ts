/**
 * png.ts — SVG to PNG with @resvg/resvg-js (no browser), the fonts it draws text with, and
 * atomic writes of a chart as .svg + .png.
 *
 * Fonts, in this order:
 *   1. `fontFiles` / `fontDirs` passed to svgToPng, and MAMBA_SPEECH_FONTS (font files or folders,
 *      separated by ':' — ';' on Windows);
 *   2. the system's fonts (resvg scans the usual folders: /usr/share/fonts, ~/.fonts,
 *      /System/Library/Fonts, C:\Windows\Fonts, ...), when at least one font file is there;
 *   3. none found (a bare container): every <text> of the charts is drawn with the built-in
 *      stroke font (strokefont.ts: ASCII plus the Greek and math signs the charts use), so a
 *      PNG never comes out with its labels silently missing. `fonts: 'builtin'` forces it.
 * The charts ask for 'DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif'; with none of
 * those installed resvg falls back to the first system font.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeFileAtomic } from '../audio/wav';
import { textToStrokes } from './strokefont';

export interface PngOptions {
  /** Pixels per SVG px (2 = twice the width and height). Default 2. */
  scale?: number;
  /** Extra font files / folders to load (besides MAMBA_SPEECH_FONTS and the system's). */
  fontFiles?: string[];
  fontDirs?: string[];
  /** 'auto' (default): installed fonts, else the built-in stroke font; 'builtin': always the stroke font. */
  fonts?: 'auto' | 'builtin';
  /** Background colour behind transparent parts. Default white. */
  background?: string;
}

const FONT_EXT = /\.(ttf|otf|ttc|otc)$/i;

function systemFontDirs(): string[] {
  const home = os.homedir();
  const dirs = ['/usr/share/fonts', '/usr/local/share/fonts', path.join(home, '.local/share/fonts'), path.join(home, '.fonts'),
    '/System/Library/Fonts', '/Library/Fonts', path.join(home, 'Library/Fonts')];
  if (process.env.WINDIR) dirs.push(path.join(process.env.WINDIR, 'Fonts'));
  return dirs;
}

/** Whether `dir` holds a font file within `depth` folder levels. */
function hasFont(dir: string, depth: number): boolean {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  if (entries.some((e) => !e.isDirectory() && FONT_EXT.test(e.name))) return true;
  return depth > 0 && entries.some((e) => e.isDirectory() && hasFont(path.join(dir, e.name), depth - 1));
}

let systemCache: boolean | null = null;

/** What svgToPng will draw text with: the font sources found, or that only the built-in stroke font is left. */
export function fontStatus(extra: { fontFiles?: string[]; fontDirs?: string[] } = {}): { system: boolean; files: string[]; dirs: string[]; builtin: boolean } {
  if (systemCache === null) systemCache = systemFontDirs().some((d) => hasFont(d, 4));
  const files = [...(extra.fontFiles ?? [])];
  const dirs = [...(extra.fontDirs ?? [])];
  for (const p of (process.env.MAMBA_SPEECH_FONTS ?? '').split(path.delimiter).filter(Boolean)) {
    try {
      if (fs.statSync(p).isDirectory()) dirs.push(p);
      else files.push(p);
    } catch {
      // A listed path that does not exist is skipped; fontStatus() shows what was used.
    }
  }
  const userFonts = files.some((f) => FONT_EXT.test(f) && fs.existsSync(f)) || dirs.some((d) => hasFont(d, 4));
  return { system: systemCache, files, dirs, builtin: !systemCache && !userFonts };
}

// resvg-js is loaded on first use, so requiring the library costs nothing when no PNG is drawn.
let resvg: typeof import('@resvg/resvg-js') | null = null;

/**
 * Renders `svg` to a PNG (Buffer). Text uses the installed fonts, or the built-in stroke font
 * where there are none (see the module comment). Errors start with `[plot.svgToPng]`.
 */
export function svgToPng(svg: string, opts: PngOptions = {}): Buffer {
  const op = 'plot.svgToPng';
  if (typeof svg !== 'string' || !svg.includes('<svg')) throw new Error(`[${op}] expected SVG text, got ${typeof svg === 'string' ? `'${svg.slice(0, 40)}'` : typeof svg}`);
  const scale = opts.scale ?? 2;
  if (typeof scale !== 'number' || !(scale > 0 && scale <= 16)) throw new Error(`[${op}] scale must be a number in (0, 16], got ${JSON.stringify(opts.scale)}`);
  const fonts = opts.fonts ?? 'auto';
  if (fonts !== 'auto' && fonts !== 'builtin') throw new Error(`[${op}] fonts must be 'auto' or 'builtin', got ${JSON.stringify(fonts)}`);
  const st = fontStatus(opts);
  const builtin = fonts === 'builtin' || st.builtin;
  if (!resvg) resvg = require('@resvg/resvg-js') as typeof import('@resvg/resvg-js');
  const doc = builtin ? textToStrokes(svg) : svg;
  try {
    const r = new resvg.Resvg(doc, {
      fitTo: { mode: 'zoom', value: scale },
      background: opts.background ?? 'white',
      font: builtin
        ? { loadSystemFonts: false }
        : { loadSystemFonts: st.system, fontFiles: st.files, fontDirs: st.dirs, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
      logLevel: 'off',
    });
    return r.render().asPng();
  } catch (e) {
    throw new Error(`[${op}] resvg could not render the SVG: ${(e as Error).message}`);
  }
}

/**
 * Writes `svg` to `<basePath>.svg` and its PNG to `<basePath>.png` (folders created), each
 * atomically (temporary file + rename): a reader never sees a half-written plot, and a failed
 * render leaves no .png behind. Returns the two paths.
 */
export function writePlot(basePath: string, svg: string, opts: PngOptions = {}): { svg: string; png: string } {
  if (typeof basePath !== 'string' || basePath.length === 0) throw new Error(`[plot.writePlot] basePath must be a non-empty path, got ${JSON.stringify(basePath)}`);
  const base = basePath.replace(/\.(svg|png)$/i, '');
  const png = svgToPng(svg, opts);
  const out = { svg: `${base}.svg`, png: `${base}.png` };
  writeFileAtomic(out.svg, svg);
  writeFileAtomic(out.png, png);
  return out;
}
