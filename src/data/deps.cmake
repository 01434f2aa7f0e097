# PNG/JPEG reading and writing through Debian's libstb-dev (header-only use via pkg-config).
target_link_libraries(${target} ${scope} nlohmann_json::nlohmann_json PkgConfig::STB)
# TIFF (libtiff-dev), DICOM (libgdcm-dev) and NIfTI (libnifti2-dev; its CMake config is broken, so by name).
target_include_directories(${target} PRIVATE /usr/include/gdcm-3.0 /usr/include/nifti)
target_link_libraries(${target} PRIVATE gdcmMSFF gdcmDSED gdcmCommon nifti2 znz z tiff)
# stb_image (compiled into png.cpp) calls memcpy(NULL, p, 0) on some empty chunks; UBSan's
# nonnull-attribute check stops the fuzz targets there. A zero-length copy touches nothing, and
# a real null write still faults under ASan, so only that one check is off, only for that file.
if(CU_FUZZ)
  set_source_files_properties(${PROJECT_SOURCE_DIR}/src/data/png.cpp PROPERTIES COMPILE_OPTIONS -fno-sanitize=nonnull-attribute)
endif()
