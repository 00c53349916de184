// The slice of the WebAssembly JS API the kernels use. The project compiles with lib ES2023 and
// @types/node 20, neither of which declares `WebAssembly`; typing the global locally avoids adding the
// DOM lib (and clashing with anyone who does).
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
/** An opaque compiled module. */
export interface WasmModule {
  readonly __wasmModule?: never;
}
interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
interface WasmApi {
  Module: { new (bytes: Uint8Array): WasmModule; exports(module: WasmModule): Array<{ name: string; kind: string }> };
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => WasmInstance;
}

export const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
