# Builds bench/ inside the normal tree before the top-level CMakeLists.txt has `add_subdirectory(bench)`:
#   cmake -S . -B build-bench -DCMAKE_PROJECT_roost_INCLUDE=$PWD/bench/attach.cmake ...
# CMake includes this file at the end of `project(roost)`; the deferred call then reads bench/CMakeLists.txt
# after the rest of the top-level file (so roost_net exists). CMake forbids a deferred add_subdirectory,
# hence include(); the executable lands in <build>/ instead of <build>/bench/. Once the top-level line
# exists this file does nothing.
file(READ "${CMAKE_SOURCE_DIR}/CMakeLists.txt" _roost_top)
if(NOT _roost_top MATCHES "add_subdirectory\\(bench[ )]")
  # Deferred arguments are expanded when the call runs, so bake the path in as a bracket argument now.
  cmake_language(EVAL CODE "cmake_language(DEFER DIRECTORY [[${CMAKE_SOURCE_DIR}]] CALL include [[${CMAKE_CURRENT_LIST_DIR}/CMakeLists.txt]])")
endif()
unset(_roost_top)
