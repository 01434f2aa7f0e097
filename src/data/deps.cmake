# PNG/JPEG reading and writing through Debian's libstb-dev (header-only use via pkg-config).
target_link_libraries(${target} ${scope} nlohmann_json::nlohmann_json PkgConfig::STB)
# TIFF (libtiff-dev), DICOM (libgdcm-dev) and NIfTI (libnifti2-dev; its CMake config is broken, so by name).
target_include_directories(${target} PRIVATE /usr/include/gdcm-3.0 /usr/include/nifti)
target_link_libraries(${target} PRIVATE gdcmMSFF gdcmDSED gdcmCommon nifti2 znz z tiff)
