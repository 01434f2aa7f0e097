target_link_libraries(${target} ${scope} OpenSSL::Crypto)
