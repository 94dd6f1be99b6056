# All dependencies come from Debian 12 packages (tools/bootstrap.sh installs them).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

pkg_check_modules(AVRO REQUIRED IMPORTED_TARGET avro-c)       # libavro-dev
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)   # libsqlite3-dev
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)      # libcurl4-openssl-dev
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)      # libzstd-dev
pkg_check_modules(SNAPPY REQUIRED IMPORTED_TARGET snappy)     # libsnappy-dev
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)  # libxxhash-dev
find_package(ZLIB REQUIRED)                                   # zlib1g-dev
find_package(OpenSSL 3 REQUIRED)                              # libssl-dev
find_package(nlohmann_json 3 REQUIRED)                        # nlohmann-json3-dev
find_package(spdlog REQUIRED)                                 # libspdlog-dev
find_package(CLI11 REQUIRED)                                  # libcli11-dev
find_package(Boost 1.74 REQUIRED)                             # libboost-dev (Asio/Beast, header-only)
find_package(simdjson REQUIRED)                               # libsimdjson-dev: http_json pages, JSON lines, pushed posts
if(DXHUB_BUILD_TESTS)
  find_package(GTest REQUIRED)                                # googletest / libgtest-dev
  include(GoogleTest)
endif()

find_program(DXHUB_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT DXHUB_PYTHON3)
  find_program(DXHUB_PYTHON3 python3)
endif()
