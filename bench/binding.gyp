{
  # The benchmark's C side (npm run bench, npm run bench:pmd): an addon of its own, built from a
  # clone only (`npm run build:bench`; scripts/test.js builds it when missing) into bench/build/,
  # never shipped. It has its own build directory so that nothing of it lands in the library's
  # build/Release, where node-gyp-build and prebuildify take the first *.node they list.
  # It reaches the library's kernel and device models through src-native/bench_hooks.h only.
  "targets": [
    {
      "target_name": "vfio_cdx_bench",
      "sources": [
        "native/bench_addon.cc",
        "native/bench_loops.cc",
        "native/msi_stages.cc",
        "native/pmd_ref.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "../src-native"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags": ["-Wall", "-Wextra", "-fvisibility=hidden"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-fvisibility=hidden"]
    }
  ]
}
