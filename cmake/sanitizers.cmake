# DXHUB_SANITIZE=ON builds everything (host, plugins, province, tests) with
# AddressSanitizer (+LeakSanitizer) and UndefinedBehaviorSanitizer.
# UB is fatal (-fno-sanitize-recover) so a report fails its test instead of
# scrolling by; frame pointers keep the reports' stacks whole at -O1.
# tools/test.sh --sanitize builds this into ./build-asan and runs ctest there.
option(DXHUB_SANITIZE "Build with -fsanitize=address,undefined" OFF)
if(DXHUB_SANITIZE)
  set(dxhub_sanitize_flags
    -fsanitize=address,undefined
    -fno-sanitize-recover=undefined
    -fno-omit-frame-pointer)
  add_compile_options(${dxhub_sanitize_flags})
  add_link_options(${dxhub_sanitize_flags})
  # Tests and tools find the suppression file through this definition.
  add_compile_definitions(DXHUB_SANITIZE=1)
endif()
