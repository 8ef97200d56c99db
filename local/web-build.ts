/**
 * Builds the web console when web/dist is missing or older than its sources (npm start and the
 * browser tests). The build goes to a fresh folder that replaces web/dist only when complete,
 * so a server never serves half a build and two builds at once do not trip over each other.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { WEB_DIST_DIR } from './web-server';

const REPO_ROOT = path.resolve(__dirname, '..');
/** What the build reads: the app and the core modules it imports. */
const SOURCES = [path.join(REPO_ROOT, 'web'), path.join(REPO_ROOT, 'core')];
const IGNORED = new Set(['dist', 'node_modules']);

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (IGNORED.has(entry.name) || entry.name.startsWith('dist.')) continue;
    const full = path.join(dir, entry.name);
    const mtime = entry.isDirectory() ? await newestMtime(full) : (await stat(full)).mtimeMs;
    newest = Math.max(newest, mtime);
  }
  return newest;
}

/** True when web/dist is missing or a source changed after it was built. */
export async function webBuildIsStale(distDir = WEB_DIST_DIR): Promise<boolean> {
  const built = await stat(path.join(distDir, 'index.html')).catch(() => undefined);
  if (!built) return true;
  const sources = Math.max(...(await Promise.all(SOURCES.map(newestMtime))));
  return sources > built.mtimeMs;
}

/** Runs `vite build` into `outDir` (default web/dist); resolves when it is in place. */
export async function buildWeb(outDir = WEB_DIST_DIR): Promise<void> {
  const staging = `${outDir}.${process.pid}.${Date.now()}`;
  const vite = path.join(REPO_ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
  await new Promise<void>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        vite,
        'build',
        '--config',
        path.join(REPO_ROOT, 'web', 'vite.config.mts'),
        '--outDir',
        staging,
        '--logLevel',
        'warn',
      ],
      {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'inherit', 'inherit'],
        env: { ...process.env, VITE_CONFIG_NATIVE_IGNORE_WARNING: 'true' },
      },
    );
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`vite build exited with ${code}`)),
    );
  });
  const old = `${outDir}.old.${process.pid}.${Date.now()}`;
  if (existsSync(outDir)) await rename(outDir, old).catch(() => undefined);
  try {
    await rename(staging, outDir);
  } catch (error) {
    // Another build put its (equally fresh) output in place first: keep that one.
    if (!existsSync(path.join(outDir, 'index.html'))) throw error;
    await rm(staging, { recursive: true, force: true });
  }
  await rm(old, { recursive: true, force: true });
}

/** Builds the app if needed; returns whether it built. */
export async function ensureWebBuild(): Promise<boolean> {
  if (!(await webBuildIsStale())) return false;
  await buildWeb();
  return true;
}
