# OS entropy (RAND_bytes) and SHAKE-256 seed expansion for the CSPRNG.
target_link_libraries(${target} ${scope} OpenSSL::Crypto)
