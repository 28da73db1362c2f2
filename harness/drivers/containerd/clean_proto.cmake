# Copies one of containerd's .proto files into the build tree with what protoc's C++ generator
# cannot take removed: gogoproto (a Go code-generation extension whose weak import protoc
# rejects) and containerd's fieldpath plugin. Neither changes the wire format, so the cleaned
# file describes the same messages.
#
#   cmake -DIN=<source .proto> -DOUT=<cleaned copy> -P clean_proto.cmake
#
# Removed: the imports of gogo.proto and fieldpath.proto (weak or not), `option (gogoproto...)`
# and `option (containerd.plugin...)` statements, and every `(gogoproto...) = value` or
# `(containerd.plugin...) = value` inside a field's `[...]` options, which may span lines and
# sit among other options; brackets left empty go too.
if(NOT DEFINED IN OR NOT DEFINED OUT)
  message(FATAL_ERROR "usage: cmake -DIN=<file.proto> -DOUT=<file.proto> -P clean_proto.cmake")
endif()

file(READ "${IN}" text)

set(ws "[ \t\r\n]*")
set(ext "\\((gogoproto|containerd\\.plugin)[^)]*\\)")
# A value: a quoted string, or anything up to the next ',' or ']'.
set(value "(\"[^\"]*\"|[^],\"]*)")
set(entry "${ext}${ws}=${ws}${value}")

string(REGEX REPLACE
  "import[ \t]+(weak[ \t]+|public[ \t]+)?\"(gogoproto/gogo|github.com/containerd/containerd/protobuf/plugin/fieldpath)\\.proto\"[ \t]*;[^\n]*\n"
  "" text "${text}")
string(REGEX REPLACE "[ \t]*option[ \t]*${ext}[^;]*;[^\n]*\n" "" text "${text}")
# Entries followed by another option, then entries preceded by one, then a lone entry with
# its brackets.
string(REGEX REPLACE "${entry}${ws},${ws}" "" text "${text}")
string(REGEX REPLACE "${ws},${ws}${entry}" "" text "${text}")
string(REGEX REPLACE "[ \t]*\\[${ws}${entry}${ws}\\]" "" text "${text}")

string(FIND "${text}" "gogoproto" left_gogo)
string(FIND "${text}" "containerd.plugin" left_plugin)
if(NOT left_gogo EQUAL -1 OR NOT left_plugin EQUAL -1)
  message(FATAL_ERROR "clean_proto.cmake: ${IN} still mentions gogoproto or containerd.plugin "
                      "after cleaning; the patterns need extending")
endif()

# Rewrite only on change, so protoc and the compiler do not rerun for nothing.
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
  if(old STREQUAL text)
    return()
  endif()
endif()
file(WRITE "${OUT}" "${text}")
