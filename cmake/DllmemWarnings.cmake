# Warning sets. dll/ adds -Wconversion on top of the common set.
set(DLLMEM_COMMON_WARNINGS -Wall -Wextra -Wshadow -Wformat=2 -Wundef)
if(DLLMEM_WERROR)
  list(APPEND DLLMEM_COMMON_WARNINGS -Werror)
endif()

function(dllmem_warnings target)
  target_compile_options(${target} PRIVATE ${DLLMEM_COMMON_WARNINGS})
endfunction()
