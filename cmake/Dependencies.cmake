# Every dependency comes from Debian 12's packages (scripts/install-deps.sh installs them).
find_package(Threads REQUIRED)
find_package(OpenSSL REQUIRED)           # CSPRNG (RAND_bytes) and SHAKE-256 seed expansion
find_package(OpenMP)                     # optional; our own thread pool is the default
find_package(PkgConfig REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(Protobuf REQUIRED)          # must come before ONNX
find_package(ONNX REQUIRED)
pkg_check_modules(STB REQUIRED IMPORTED_TARGET stb)
pkg_check_modules(HTTPLIB IMPORTED_TARGET cpp-httplib)
pkg_check_modules(TIFF IMPORTED_TARGET libtiff-4)
find_library(GMP_LIBRARY gmp)
find_library(GMPXX_LIBRARY gmpxx)
find_path(GMP_INCLUDE_DIR gmpxx.h)
# Tests and benchmarks are built when their libraries are installed (`make test` installs them;
# `make demo` does not, and builds only the CLI).
if(CU_BUILD_TESTS)
  find_package(GTest)
  if(GTest_FOUND)
    include(GoogleTest)
  else()
    message(STATUS "GoogleTest not found: the test suites are not built (scripts/install-deps.sh test)")
    set(CU_BUILD_TESTS OFF)
  endif()
endif()
if(CU_BUILD_BENCH)
  find_package(benchmark QUIET)
  if(NOT benchmark_FOUND)
    message(STATUS "Google Benchmark not found: bench/ is not built (scripts/install-deps.sh test)")
    set(CU_BUILD_BENCH OFF)
  endif()
endif()
