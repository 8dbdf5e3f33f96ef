/**
 * Binary attributes. Meshes and maps arrive as DataViews (binary comm frames, or base64 buffers of saved
 * widget state); the views work on typed arrays. Serializing hands typed arrays back, which
 * `remove_buffers` turns into binary buffers again (it sends a view's whole ArrayBuffer, hence `exact`).
 */
type TypedArrayCtor<T> = { new (buffer: ArrayBuffer, byteOffset: number, length: number): T; BYTES_PER_ELEMENT: number };

function typed<T>(view: DataView, ctor: TypedArrayCtor<T>): T {
  const length = Math.floor(view.byteLength / ctor.BYTES_PER_ELEMENT);
  // Typed arrays need an aligned offset; copy the bytes when the frame does not give one.
  if (view.byteOffset % ctor.BYTES_PER_ELEMENT === 0) return new ctor(view.buffer as ArrayBuffer, view.byteOffset, length);
  const copy = new Uint8Array(view.byteLength);
  copy.set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
  return new ctor(copy.buffer, 0, length);
}

export const asFloat32 = (view: DataView): Float32Array => typed(view, Float32Array);
export const asInt32 = (view: DataView): Int32Array => typed(view, Int32Array);

/** A typed array whose ArrayBuffer holds exactly its bytes. */
export function exact<T extends Float32Array | Int32Array>(a: T): T {
  return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : (a.slice() as T);
}
