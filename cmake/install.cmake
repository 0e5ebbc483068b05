# `cmake --install`: the library, the public headers (include/quantpipe/, which
# need nothing else), the CLI, a CMake package (find_package(quantpipe) →
# quantpipe::quantpipe) and a pkg-config file (quantpipe.pc).
include(CMakePackageConfigHelpers)

install(TARGETS quantpipe_lib EXPORT quantpipeTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS quantpipe RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/quantpipe DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(QUANTPIPE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/quantpipe)
install(EXPORT quantpipeTargets NAMESPACE quantpipe:: DESTINATION ${QUANTPIPE_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/quantpipeConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/quantpipeConfig.cmake INSTALL_DESTINATION ${QUANTPIPE_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/quantpipeConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/quantpipeConfig.cmake ${PROJECT_BINARY_DIR}/quantpipeConfigVersion.cmake
        DESTINATION ${QUANTPIPE_CMAKE_DIR})

configure_file(${PROJECT_SOURCE_DIR}/cmake/quantpipe.pc.in ${PROJECT_BINARY_DIR}/quantpipe.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/quantpipe.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
