# CARBONMETER_SANITIZE: build everything with sanitizers (make test-asan, make test-tsan).
#   ""                   off (the default)
#   "address,undefined"  AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer comes with ASan)
#   "thread"             ThreadSanitizer
# Included before any target is defined, so that the flags reach every target of the project: the
# libraries, the programs, the test executables, the fake NVML/ROCm libraries of tests/fakes and
# the HTTP module (both dlopen'ed by instrumented programs) and the Python extension module.
# -fno-sanitize-recover=all makes every UBSan finding fatal, so that a finding fails its test.
set(CARBONMETER_SANITIZE "" CACHE STRING
    "Sanitizers to build with: empty (none), \"address,undefined\" or \"thread\"")
set_property(CACHE CARBONMETER_SANITIZE PROPERTY STRINGS "" "address,undefined" "thread")

set(CARBONMETER_SANITIZE_FLAGS "")
set(CARBONMETER_SANITIZER_RUNTIME "")
if(CARBONMETER_SANITIZE)
  if(CARBONMETER_SANITIZE MATCHES "thread" AND CARBONMETER_SANITIZE MATCHES "address")
    message(FATAL_ERROR "CARBONMETER_SANITIZE: ThreadSanitizer cannot be combined with AddressSanitizer")
  endif()
  set(CARBONMETER_SANITIZE_FLAGS -fsanitize=${CARBONMETER_SANITIZE} -fno-omit-frame-pointer
      -fno-sanitize-recover=all)
  add_compile_options(${CARBONMETER_SANITIZE_FLAGS})
  add_link_options(-fsanitize=${CARBONMETER_SANITIZE})

  # The runtime that an uninstrumented interpreter (Debian's /usr/bin/python3) must preload before
  # it can import the instrumented extension module (python/CMakeLists.txt, test python_tests).
  if(CARBONMETER_SANITIZE MATCHES "address")
    set(runtime_name libasan.so)
  elseif(CARBONMETER_SANITIZE MATCHES "thread")
    set(runtime_name libtsan.so)
  endif()
  if(runtime_name)
    execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=${runtime_name}
                    OUTPUT_VARIABLE CARBONMETER_SANITIZER_RUNTIME OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(NOT IS_ABSOLUTE "${CARBONMETER_SANITIZER_RUNTIME}" OR NOT EXISTS "${CARBONMETER_SANITIZER_RUNTIME}")
      message(FATAL_ERROR "CARBONMETER_SANITIZE=${CARBONMETER_SANITIZE}: ${CMAKE_CXX_COMPILER} "
                          "does not know ${runtime_name}: install its sanitizer runtime")
    endif()
  endif()
  message(STATUS "carbonmeter: sanitizers ${CARBONMETER_SANITIZE} (runtime ${CARBONMETER_SANITIZER_RUNTIME})")
endif()
