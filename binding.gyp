{
  "targets": [
    {
      "target_name": "vfio_cdx",
      "sources": [
        "src-native/abi_table.cc",
        "src-native/addon.cc",
        "src-native/dma_space.cc",
        "src-native/cdx_sysfs.cc",
        "src-native/iommu_backend.cc",
        "src-native/iommufd_session.cc",
        "src-native/linux_kernel.cc",
        "src-native/mapping.cc",
        "src-native/mock_schema.cc",
        "src-native/napi_device.cc",
        "src-native/napi_dma_buffer.cc",
        "src-native/napi_kernel.cc",
        "src-native/napi_lnic.cc",
        "src-native/napi_mapping.cc",
        "src-native/napi_mock_control.cc",
        "src-native/napi_msi.cc",
        "src-native/napi_util.cc",
        "src-native/sys.cc",
        "src-native/vfio_container.cc",
        "src-native/vfio_context.cc",
        "src-native/vfio_device.cc",
        "src-native/vfio_group.cc",
        "<!@(node -p \"require('fs').readdirSync('src-native/mock').filter(f => f.endsWith('.cc')).map(f => 'src-native/mock/' + f).join(' ')\")"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags": ["-Wall", "-Wextra", "-fvisibility=hidden"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-Wall", "-Wextra", "-fvisibility=hidden"]
    }
  ]
}
