/**
 * Smoke entry of the GPU bundle: proves, on a host with no Node, that each piece the project needs loads
 * from the bundle layout — the node binary, Dawn (dawn.node) and the Vulkan driver behind it, tfjs on the
 * webgpu and wasm backends (the .wasm files beside the bundle), and koffi reaching the CUDA driver.
 *
 *   run.sh smoke [--expect-nvidia] [--size N]
 *
 * --expect-nvidia turns "no NVIDIA adapter" and "no CUDA driver" from notes into failures (exit 1), so a
 * GPU-host check cannot pass on a silent fallback to lavapipe. Without it a CPU host passes with lavapipe.
 */
/// <reference types="@webgpu/types" />
import * as tf from '@tensorflow/tfjs';
import { cli, runMain } from '@sigattn/common';
import { initBackend, type BackendName } from '@sigattn/kernel-core';

const failures: string[] = [];
const fail = (msg: string): void => { failures.push(msg); console.log(`FAIL  ${msg}`); };

/** Float64 reference product of row-major n×n matrices, to check the backend's f32 result. */
function matmulRef(a: Float32Array, b: Float32Array, n: number): Float64Array {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k];
      for (let j = 0; j < n; j++) c[i * n + j] += aik * b[k * n + j];
    }
  }
  return c;
}

/** Runs one n×n matmul on `backend`, checks it against float64 and returns the timed milliseconds. */
async function checkMatmul(backend: BackendName, n: number): Promise<void> {
  try {
    await initBackend(backend);
    // Fresh inputs every run (seed from the clock), so a stale or unwritten output cannot pass.
    const seed = Date.now() % 100_000;
    const a = tf.randomUniform([n, n], -1, 1, 'float32', seed);
    const b = tf.randomUniform([n, n], -1, 1, 'float32', seed + 1);
    await tf.matMul(a, b).data(); // warm-up: shader compile / wasm init
    const t0 = performance.now();
    const c = tf.matMul(a, b);
    const got = await c.data();
    const ms = performance.now() - t0;
    const ref = matmulRef(await a.data() as Float32Array, await b.data() as Float32Array, n);
    let maxErr = 0;
    let maxRef = 0;
    for (let i = 0; i < ref.length; i++) {
      maxErr = Math.max(maxErr, Math.abs(got[i] - ref[i]));
      maxRef = Math.max(maxRef, Math.abs(ref[i]));
    }
    tf.dispose([a, b, c]);
    // f32 accumulation of n products of magnitude ≤ 1: error grows about like √n·2⁻²⁴·|c|; 1e-4·|c|max is loose
    // enough for any summation order and still catches garbage or zeros.
    const ok = maxErr <= 1e-4 * Math.max(1, maxRef) && maxRef > 0;
    const line = `tfjs ${backend} matmul ${n}x${n}: max |err| vs float64 ${maxErr.toExponential(2)} (max |c| ${maxRef.toFixed(2)}), ${ms.toFixed(1)} ms`;
    if (ok) console.log(`ok    ${line}`);
    else fail(line);
  } catch (e) {
    fail(`tfjs ${backend}: ${(e as Error).message}`);
  }
}

/** Prints the WebGPU adapter that Dawn gives (through the navigator.gpu that initBackend installed). */
async function reportAdapter(expectNvidia: boolean): Promise<void> {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (gpu === undefined) {
    fail('WebGPU: navigator.gpu is not installed (dawn.node did not load; see the error above)');
    return;
  }
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter === null) {
    fail('WebGPU: requestAdapter() returned null — no Vulkan driver found (GPU host: is VK_DRIVER_FILES set? run.sh --doctor)');
    return;
  }
  // adapter.info is newer than the @webgpu/types the repo resolves; Dawn has it.
  const info = (adapter as unknown as { info: { vendor: string; architecture: string; device: string; description: string } }).info;
  console.log(`ok    WebGPU adapter: vendor=${info.vendor} architecture=${info.architecture} device=${info.device} description=${JSON.stringify(info.description)}`);
  console.log(`      features: ${[...adapter.features].sort().join(' ') || '(none)'}`);
  const l = adapter.limits;
  console.log(`      limits: maxStorageBufferBindingSize=${l.maxStorageBufferBindingSize} maxBufferSize=${l.maxBufferSize} ` +
    `maxComputeWorkgroupStorageSize=${l.maxComputeWorkgroupStorageSize} maxComputeInvocationsPerWorkgroup=${l.maxComputeInvocationsPerWorkgroup}`);
  const isNvidia = /nvidia/i.test(`${info.vendor} ${info.description}`);
  if (expectNvidia && !isNvidia) fail(`WebGPU: --expect-nvidia but the adapter is ${JSON.stringify(info.description || info.vendor)}`);
}

/** Loads libcuda.so.1 through koffi and prints the driver's CUDA version and its devices. */
async function reportCuda(expectNvidia: boolean): Promise<void> {
  let koffi: typeof import('koffi').default;
  try {
    koffi = (await import('koffi')).default;
  } catch (e) {
    fail(`koffi: the native module did not load: ${(e as Error).message}`);
    return;
  }
  let cu: ReturnType<typeof koffi.load>;
  try {
    cu = koffi.load('libcuda.so.1');
  } catch (e) {
    const msg = `CUDA: libcuda.so.1 not loadable (${(e as Error).message.split('\n')[0]})`;
    if (expectNvidia) fail(msg);
    else console.log(`note  ${msg} — fine on a CPU host`);
    return;
  }
  const cuDriverGetVersion = cu.func('int cuDriverGetVersion(_Out_ int *version)');
  const cuInit = cu.func('int cuInit(unsigned int flags)');
  const cuDeviceGetCount = cu.func('int cuDeviceGetCount(_Out_ int *count)');
  const cuDeviceGet = cu.func('int cuDeviceGet(_Out_ int *device, int ordinal)');
  const cuDeviceGetName = cu.func('int cuDeviceGetName(_Out_ uint8_t *name, int len, int dev)');
  const v = [0];
  const rv = cuDriverGetVersion(v) as number;
  if (rv !== 0) { fail(`CUDA: cuDriverGetVersion returned error ${rv}`); return; }
  const version = `${Math.floor(v[0] / 1000)}.${(v[0] % 1000) / 10}`;
  console.log(`ok    CUDA driver version ${version} (cuDriverGetVersion = ${v[0]}) via koffi ${koffi.version}`);
  const ri = cuInit(0) as number;
  if (ri !== 0) { fail(`CUDA: cuInit(0) returned error ${ri} (no usable GPU, or the driver and the kernel module differ)`); return; }
  const count = [0];
  cuDeviceGetCount(count);
  for (let i = 0; i < count[0]; i++) {
    const dev = [0];
    cuDeviceGet(dev, i);
    const name = Buffer.alloc(256);
    cuDeviceGetName(name, name.length, dev[0]);
    console.log(`      CUDA device ${i}: ${name.toString('latin1').replace(/\0.*$/s, '')}`);
  }
  if (count[0] === 0) fail('CUDA: cuDeviceGetCount found no device');
}

runMain(async () => {
  const opts = await cli('smoke')
    .usage('$0 [options]: check that node, Dawn, tfjs (wasm, webgpu) and the CUDA driver load from the bundle')
    .option('expect-nvidia', { type: 'boolean', default: false, describe: 'fail (instead of a note) without an NVIDIA adapter and CUDA driver' })
    .option('size', { type: 'number', requiresArg: true, default: 256, describe: 'matrix size of the checked matmul (8 … 4096)' })
    .check((o) => (Number.isInteger(o.size) && o.size >= 8 && o.size <= 4096) || `--size: expected an integer in 8 … 4096, found ${o.size}`)
    .parse();
  console.log(`ok    node ${process.version} (${process.platform}-${process.arch}, napi ${process.versions.napi}) at ${process.execPath}`);
  console.log(`      VK_DRIVER_FILES=${process.env.VK_DRIVER_FILES ?? '(unset)'} SIGATTN_ASSETS=${process.env.SIGATTN_ASSETS ?? '(unset)'}`);
  await checkMatmul('wasm', opts.size);
  await checkMatmul('webgpu', opts.size);
  await reportAdapter(opts['expect-nvidia']);
  await reportCuda(opts['expect-nvidia']);
  console.log(failures.length === 0 ? 'smoke: all checks passed' : `smoke: ${failures.length} check(s) failed`);
  // runMain exits explicitly: Dawn keeps the event loop alive while its GPU object lives (crbug 387965810).
  return failures.length === 0 ? 0 : 1;
});
