// Builds the web app into dist/: bundles the JS and CSS with esbuild, copies the
// ELK worker and the Korean web font (woff2 subsets only), and writes .gz siblings.
import { build } from 'esbuild';
import { cp, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const dist = join(here, 'dist');
const FONT_WEIGHTS = ['400', '700'];

async function bundleScripts() {
  await build({
    entryPoints: {
      app: join(here, 'src/main.js'),
      'fast-layout-worker': join(here, 'src/layout/fastWorker.js'),
      styles: join(here, 'src/styles/main.css'),
    },
    outdir: dist,
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['chrome110', 'firefox115', 'safari16'],
    sourcemap: 'linked',
    legalComments: 'linked',
    logLevel: 'warning',
  });
}

/**
 * The notebook view's script (gradtrace.export.app_html inlines it): the app plus embed.js,
 * with no source-map link and the licence comments kept inline, since the page must not
 * reference any other file.
 */
async function bundleEmbed(fontCss) {
  await build({
    entryPoints: { embed: join(here, 'src/embed.js') },
    define: { __EMBED_FONT_CSS__: JSON.stringify(fontCss) },
    outdir: dist,
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['chrome110', 'firefox115', 'safari16'],
    sourcemap: false,
    legalComments: 'eof',
    logLevel: 'warning',
  });
}

async function copyElkWorker() {
  const elkDir = dirname(require.resolve('elkjs/package.json'));
  await cp(join(elkDir, 'lib/elk-worker.min.js'), join(dist, 'elk-worker.min.js'));
  await cp(join(elkDir, 'LICENSE.md'), join(dist, 'elk-LICENSE.md')).catch(() => {});
}

/** Rewrites the fontsource CSS to woff2-only URLs under fonts/ and copies those files. */
async function copyKoreanFont() {
  const fontDir = dirname(require.resolve('@fontsource/noto-sans-kr/package.json'));
  await mkdir(join(dist, 'fonts'), { recursive: true });
  let css = '';
  for (const weight of FONT_WEIGHTS) {
    const text = await readFile(join(fontDir, `${weight}.css`), 'utf8');
    css += text
      .replace(/,\s*url\([^)]*\.woff\)\s*format\('woff'\)/g, '')
      .replace(/url\(\.\/files\//g, 'url(./fonts/');
    for (const match of text.matchAll(/\.\/files\/([^)]+\.woff2)/g)) {
      await cp(join(fontDir, 'files', match[1]), join(dist, 'fonts', match[1]));
    }
  }
  await writeFile(join(dist, 'fonts.css'), css);
}

/**
 * The notebook view's Korean web font: its page may load nothing (CSP `font-src data:`), so
 * the 400-weight woff2 subsets go in as data: URLs, and only the subsets holding a character
 * the page is likely to show: ASCII, the UI and narration strings (src/i18n.js) and the
 * server's Korean messages and notes. Other characters fall back to system fonts through
 * each face's unicode-range; bold is synthesised. About 200 KB of woff2.
 */
async function embedFontCss() {
  const fontDir = dirname(require.resolve('@fontsource/noto-sans-kr/package.json'));
  let text = await readFile(join(here, 'src/i18n.js'), 'utf8');
  const backend = join(here, '..', 'backend', 'gradtrace');
  try {
    for await (const path of walk(backend)) {
      if (path.endsWith('.py')) text += (await readFile(path, 'utf8')).match(/[\u3131-\u318E\uAC00-\uD7A3]/g)?.join('') ?? '';
    }
  } catch {
    // a frontend without the backend next to it: the UI strings only
  }
  const used = new Set([...text].map((c) => c.codePointAt(0)));
  for (let cp = 0x20; cp < 0x7f; cp++) used.add(cp);
  const css = await readFile(join(fontDir, '400.css'), 'utf8');
  let out = '';
  for (const match of css.matchAll(/@font-face\s*{([^}]*)}/g)) {
    const face = match[1];
    const file = face.match(/\.\/files\/([^)]+\.woff2)/)?.[1];
    const range = face.match(/unicode-range:\s*([^;]+);/)?.[1];
    if (!file || !range || !covers(range, used)) continue;
    const data = (await readFile(join(fontDir, 'files', file))).toString('base64');
    out += `@font-face{font-family:'Noto Sans KR';font-style:normal;font-display:swap;font-weight:400;`
      + `src:url(data:font/woff2;base64,${data}) format('woff2');unicode-range:${range.trim()};}\n`;
  }
  await writeFile(join(dist, 'embed-fonts.css'), out);
  return out;
}

/** Whether a CSS unicode-range ("U+AC00-AC0F, U+1234") holds any of the code points. */
function covers(range, codePoints) {
  const spans = range.split(',').map((part) => {
    const [a, b] = part.trim().replace(/^U\+/i, '').split('-').map((x) => parseInt(x, 16));
    return [a, b ?? a];
  });
  for (const cp of codePoints) if (spans.some(([a, b]) => cp >= a && cp <= b)) return true;
  return false;
}

async function copyHtml() {
  await cp(join(here, 'src/index.html'), join(dist, 'index.html'));
  await cp(join(here, 'src/favicon.svg'), join(dist, 'favicon.svg'));
}

async function* walk(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else yield path;
  }
}

/** Pre-gzipped siblings for the compressible files (ELK: 1.6 MB -> ~480 KB). */
async function gzipAssets() {
  for await (const path of walk(dist)) {
    if (!/\.(js|css|html|svg|json|map|txt|md)$/.test(path)) continue;
    const data = await readFile(path);
    if ((await stat(path)).size < 1024) continue;
    await writeFile(`${path}.gz`, gzipSync(data, { level: 9 }));
  }
}

await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });
await bundleScripts();
await bundleEmbed(await embedFontCss());
await copyElkWorker();
await copyKoreanFont();
await copyHtml();
await gzipAssets();
console.log('built frontend/dist');
