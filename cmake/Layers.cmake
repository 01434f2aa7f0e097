# cu_add_layer(NAME DEPS...): library cryptounet_NAME from src/NAME/*.cpp (globbed, so adding a
# file needs no CMake edit) with public headers in include/cryptounet/NAME/. A layer links only
# the layers DEPS name; every target sees all of include/ and src/, so the include rule (no higher
# layer's header, no other layer's internal src/ header) is checked by scripts/check-layers.py
# (CTest `layer_rules`), which reads these cu_add_layer lines. Extra third-party links
# for a layer go in src/NAME/deps.cmake (included if present; it sees ${target} and ${scope}).
function(cu_add_layer name)
  set(target cryptounet_${name})
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${name}/*.cpp)
  if(sources)
    add_library(${target} STATIC ${sources})
    target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR}/include
                                         PRIVATE ${PROJECT_SOURCE_DIR}/src)
    foreach(dep ${ARGN})
      target_link_libraries(${target} PUBLIC cryptounet_${dep})
    endforeach()
    target_link_libraries(${target} PUBLIC Threads::Threads)
    set(scope PUBLIC)
  else()
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE ${PROJECT_SOURCE_DIR}/include)
    foreach(dep ${ARGN})
      target_link_libraries(${target} INTERFACE cryptounet_${dep})
    endforeach()
    set(scope INTERFACE)
  endif()
  add_library(cryptounet::${name} ALIAS ${target})
  if(EXISTS ${PROJECT_SOURCE_DIR}/src/${name}/deps.cmake)
    include(${PROJECT_SOURCE_DIR}/src/${name}/deps.cmake)
  endif()
endfunction()

# cu_layer_executable(TARGET DIR EXTRA_INCLUDE LIBS...): TARGET from DIR/*.cpp (globbed; nothing
# when DIR has none), seeing src/ (and EXTRA_INCLUDE, if not empty), linked with LIBS.
function(cu_layer_executable target dir extra_include)
  file(GLOB sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/${dir}/*.cpp)
  if(NOT sources)
    return()
  endif()
  add_executable(${target} ${sources})
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/src ${extra_include})
  target_link_libraries(${target} PRIVATE ${ARGN})
endfunction()

# cu_add_test_suite(LAYER LIBS...): one gtest binary per layer from tests/LAYER/*.cpp.
function(cu_add_test_suite layer)
  cu_layer_executable(test_${layer} tests/${layer} ${PROJECT_SOURCE_DIR}/tests ${ARGN} GTest::gtest GTest::gtest_main
                      GTest::gmock)
  if(NOT TARGET test_${layer})
    return()
  endif()
  set(target test_${layer})
  target_compile_definitions(${target} PRIVATE CU_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
                                               CU_BINARY_DIR="${PROJECT_BINARY_DIR}")
  gtest_discover_tests(${target} DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60
                       WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
                       PROPERTIES LABELS ${layer})
endfunction()

# cu_add_bench(LAYER LIBS...): one Google Benchmark binary per layer from bench/LAYER/*.cpp.
function(cu_add_bench layer)
  cu_layer_executable(bench_${layer} bench/${layer} "" ${ARGN} benchmark::benchmark benchmark::benchmark_main)
endfunction()
