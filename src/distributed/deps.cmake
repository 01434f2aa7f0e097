# MPI is private to this layer: its headers never include <mpi.h>, so nothing above it needs MPI's
# include paths, and a build without MPI (-DCU_MPI=OFF) compiles the single-rank path only.
if(CU_MPI)
  target_link_libraries(${target} PRIVATE MPI::MPI_CXX)
  target_compile_definitions(${target} PRIVATE CU_HAVE_MPI=1)
endif()
