# The ONNX importer needs Debian's libonnx-dev (protobuf first, see cmake/Dependencies.cmake).
target_link_libraries(${target} ${scope} onnx onnx_proto protobuf::libprotobuf)
