// What a training worker knows about its GPU: the tensor and texture counters the debug panel
// and the soak check read after every step, and the WebGL context — watched for loss (a GPU
// reset, a driver update, the browser reclaiming contexts), and lost on purpose by the debug
// panel's button. tfjs-backend-webgl hides these behind private fields, so they are read by shape
// here, and every reader returns nothing on another backend (WebGPU reports its buffer bytes).
import * as tf from '@tensorflow/tfjs-core';
import type { GpuMemory, MemoryInfo } from '../shared/protocol.js';

/** The parts of tfjs-backend-webgl's MathBackendWebGL read here. */
interface WebglBackendShape {
  gpgpu?: { gl?: WebGL2RenderingContext | WebGLRenderingContext };
  textureManager?: { getNumUsedTextures(): number; getNumFreeTextures(): number };
}

/** `tf.memory()` on the WebGL backend. */
interface WebglMemoryInfo extends tf.MemoryInfo {
  numBytesInGPU?: number;
  numBytesInGPUAllocated?: number;
  numBytesInGPUFree?: number;
}

function webglBackend(): WebglBackendShape | undefined {
  return tf.getBackend() === 'webgl' ? (tf.backend() as unknown as WebglBackendShape) : undefined;
}

/** The WebGL context tfjs computes with, when the backend is WebGL. */
export function webglContext(): WebGL2RenderingContext | WebGLRenderingContext | undefined {
  return webglBackend()?.gpgpu?.gl;
}

/** `tf.memory()`'s counters, with the GPU textures on WebGL. */
export function memory(): MemoryInfo {
  const info = tf.memory() as WebglMemoryInfo;
  const out: MemoryInfo = {
    numTensors: info.numTensors,
    numDataBuffers: info.numDataBuffers,
    numBytes: info.numBytes,
  };
  const textures = webglBackend()?.textureManager;
  if (tf.getBackend() === 'webgpu' && info.numBytesInGPU !== undefined) {
    // WebGPU: storage buffers, not textures; tfjs reports the bytes of the live ones and the pool.
    const allocated = (info as { numBytesAllocatedInGPU?: number }).numBytesAllocatedInGPU ?? 0;
    out.gpu = {
      bytesInUse: info.numBytesInGPU,
      bytesAllocated: allocated,
      bytesFree: Math.max(0, allocated - info.numBytesInGPU),
      texturesInUse: 0,
      texturesFree: 0,
    };
  } else if (textures !== undefined && info.numBytesInGPU !== undefined) {
    const gpu: GpuMemory = {
      bytesInUse: info.numBytesInGPU,
      bytesAllocated: info.numBytesInGPUAllocated ?? 0,
      bytesFree: info.numBytesInGPUFree ?? 0,
      texturesInUse: textures.getNumUsedTextures(),
      texturesFree: textures.getNumFreeTextures(),
    };
    out.gpu = gpu;
  }
  return out;
}

/** What a lost context means for the person, in the page's words. */
export const CONTEXT_LOST_MESSAGE =
  'the WebGL context was lost (the GPU was reset, or the browser reclaimed it), and with it every tensor of this model';

/**
 * Watches the WebGL context: `onLost` runs once, at the first of the canvas's
 * `webglcontextlost` event or a `lost()` call that finds the context gone (which it is at once
 * after a `loseContext()`, before the event). On other backends `lost()` is always false.
 */
export function watchContext(onLost: () => void): { lost(): boolean } {
  const gl = webglContext();
  if (gl === undefined) return { lost: () => false };
  let reported = false;
  const report = () => {
    if (reported) return;
    reported = true;
    onLost();
  };
  (gl.canvas as EventTarget).addEventListener('webglcontextlost', report);
  return {
    lost() {
      if (gl.isContextLost()) report();
      return reported;
    },
  };
}

/** Loses the WebGL context for real (`WEBGL_lose_context`), as a GPU reset would. */
export function loseContext(): void {
  const gl = webglContext();
  if (gl === undefined)
    throw new Error(
      `this worker computes on '${tf.getBackend()}', not WebGL: there is no WebGL context to lose.`,
    );
  const extension = gl.getExtension('WEBGL_lose_context');
  if (extension === null)
    throw new Error(
      'this browser has no WEBGL_lose_context extension: a loss cannot be simulated.',
    );
  extension.loseContext();
}
