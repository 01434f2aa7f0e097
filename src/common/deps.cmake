# SHA-256 (sha256.cpp) through OpenSSL's EVP interface.
target_link_libraries(${target} ${scope} OpenSSL::Crypto)
