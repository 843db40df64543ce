import { describe, expect, it } from 'vitest';
import { classifyLoadFailure, describeLoadFailure, describeSkip } from './index.js';

/** An error as Node's ESM loader throws it for a package that is not installed. */
function notFound(pkg: string): Error {
  return Object.assign(new Error(`Cannot find package '${pkg}' imported from /app/dist/x.js`), {
    code: 'ERR_MODULE_NOT_FOUND',
  });
}

describe('classifyLoadFailure', () => {
  it('recognises a missing package, from Node and from vite', () => {
    expect(classifyLoadFailure('@tensorflow/tfjs-node', notFound('@tensorflow/tfjs-node'))).toEqual(
      { kind: 'missing' },
    );
    const vite = new Error(
      'Failed to load url @tensorflow/tfjs-node (resolved id: @tensorflow/tfjs-node) in /a/b.ts. Does the file exist?',
    );
    expect(classifyLoadFailure('@tensorflow/tfjs-node', vite).kind).toBe('missing');
    const vitest = new Error(
      'Could not resolve "@tensorflow/tfjs-node" imported by "@primer-ez/x".',
    );
    expect(classifyLoadFailure('@tensorflow/tfjs-node', vitest).kind).toBe('missing');
    // tfjs-node-gpu missing is not tfjs-node missing.
    const gpu = new Error('Failed to load url @tensorflow/tfjs-node-gpu (resolved id: x)');
    expect(classifyLoadFailure('@tensorflow/tfjs-node', gpu).kind).toBe('other');
  });

  it('reports a missing dependency of the package as a broken install, not a missing package', () => {
    const error = Object.assign(
      new Error(
        "Cannot find module '@tensorflow/tfjs'\nRequire stack:\n- /app/node_modules/@tensorflow/tfjs-node/dist/index.js",
      ),
      { code: 'MODULE_NOT_FOUND' },
    );
    expect(classifyLoadFailure('@tensorflow/tfjs-node', error).kind).toBe('other');
  });

  it('recognises a missing native addon and a missing shared library', () => {
    const addon = new Error(
      'The Node.js native addon module (tfjs_binding.node) can not be found at path: /x/lib/napi-v8/tfjs_binding.node.',
    );
    expect(classifyLoadFailure('@tensorflow/tfjs-node', addon).kind).toBe('addon');
    const library = new Error(
      'libcudart.so.11.0: cannot open shared object file: No such file or directory',
    );
    expect(classifyLoadFailure('@tensorflow/tfjs-node-gpu', library)).toEqual({
      kind: 'library',
      library: 'libcudart.so.11.0',
    });
  });
});

describe('describeLoadFailure', () => {
  it('cuda, not installed: names the package, the install command, CUDA 11.2 and cuDNN 8.1', () => {
    const message = describeLoadFailure('cuda', notFound('@tensorflow/tfjs-node-gpu'));
    expect(message).toContain(
      "device 'cuda' needs @tensorflow/tfjs-node-gpu, which is not installed. Install it with `npm install @tensorflow/tfjs-node-gpu@4.22.0`",
    );
    expect(message).toContain('CUDA 11.2 and cuDNN 8.1');
    expect(message).toContain('libtensorflow 2.9.1');
    expect(message).toContain('silently runs on the CPU');
    expect(message).toContain("'tensorflow', 'wasm' or 'cpu'");
    expect(message).toContain("'webgpu' runs on this GPU without CUDA (npm install webgpu@0.6");
  });

  it('tensorflow, not installed: names @tensorflow/tfjs-node and the platforms', () => {
    const message = describeLoadFailure('tensorflow', notFound('@tensorflow/tfjs-node'));
    expect(message).toMatch(
      /^device 'tensorflow' needs @tensorflow\/tfjs-node, which is not installed\. Install it with `npm install @tensorflow\/tfjs-node@4\.22\.0`/,
    );
    expect(message).toContain('Linux x64, macOS x64 or Windows x64');
    expect(message).not.toContain("'tensorflow', 'wasm'");
  });

  it('a broken install says to rebuild, and keeps the original error', () => {
    const addon = new Error('The Node.js native addon module (tfjs_binding.node) can not be found');
    const message = describeLoadFailure('tensorflow', addon);
    expect(message).toContain('npm rebuild @tensorflow/tfjs-node');
    expect(message).toContain(
      '(The Node.js native addon module (tfjs_binding.node) can not be found)',
    );
  });

  it('a missing CUDA library names it and the CUDA version needed', () => {
    const error = new Error(
      'libcudnn.so.8: cannot open shared object file: No such file or directory',
    );
    const message = describeLoadFailure('cuda', error);
    expect(message).toContain('the CUDA library libcudnn.so.8 is not on the library path');
    expect(message).toContain('CUDA 11.2 and cuDNN 8.1');
  });

  it('anything else keeps the first line of the error', () => {
    const message = describeLoadFailure('tensorflow', new Error('Illegal instruction\nmore'));
    expect(message).toContain(
      "device 'tensorflow': @tensorflow/tfjs-node failed to load: Illegal instruction.",
    );
  });

  it('auto gets a one-line reason', () => {
    expect(describeSkip('cuda', notFound('@tensorflow/tfjs-node-gpu'))).toBe(
      'cuda: skipped, @tensorflow/tfjs-node-gpu is not installed (optional; npm install @tensorflow/tfjs-node-gpu@4.22.0).',
    );
  });
});
