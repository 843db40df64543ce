// Run by @primer-ez/backend-node's `auto` in a child process: asks Dawn (the npm package `webgpu`)
// for a high-performance adapter and prints its info as one JSON line (`null` when there is none).
// A child, because Dawn writes its driver warnings (no Vulkan loader, a driver too old) straight
// to stderr; `auto` must stay quiet on a machine without a GPU.
import { create } from 'webgpu';

const adapter = await create([]).requestAdapter({ powerPreference: 'high-performance' });
const info = adapter?.info;
process.stdout.write(
  `${JSON.stringify(
    adapter
      ? {
          vendor: info?.vendor ?? '',
          architecture: info?.architecture ?? '',
          device: info?.device ?? '',
          description: info?.description ?? '',
          isFallbackAdapter: info?.isFallbackAdapter === true || adapter.isFallbackAdapter === true,
        }
      : null,
  )}\n`,
  () => process.exit(0),
);
