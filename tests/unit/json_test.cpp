// The CLI's JSON strings: every stream value, binary or not, gives valid JSON
// from which its bytes can be recovered.
#include "json.hpp"

#include <doctest/doctest.h>

using streamckpt::cli::json_string;

TEST_CASE("quotes, backslashes and control characters are escaped; plain ASCII is copied") {
  CHECK(json_string("a\"b\\c") == R"("a\"b\\c")");
  CHECK(json_string(std::string("\n\r\t\x01\x1f", 5)) == R"("\n\r\t\u0001\u001f")");
  CHECK(json_string("") == R"("")");
}

TEST_CASE("well-formed UTF-8 of every length is copied as it is") {
  for (const std::string s : {"\xc3\xbf", "\xe2\x82\xac", "\xef\xbf\xbf", "\xf0\x9f\x99\x82", "\xf4\x8f\xbf\xbf"})
    CHECK(json_string(s) == "\"" + s + "\"");
}

TEST_CASE("each byte outside well-formed UTF-8 becomes \\udcXX, and the rest of the value is kept") {
  CHECK(json_string("\xff\xfe") == R"("\udcff\udcfe")");
  CHECK(json_string("a\x80z") == R"("a\udc80z")");                            // a stray continuation byte
  CHECK(json_string("\xc3") == R"("\udcc3")");                                // truncated at the end
  CHECK(json_string("\xe2\x82z") == R"("\udce2\udc82z")");                    // truncated in the middle
  CHECK(json_string("\xc0\xaf") == R"("\udcc0\udcaf")");                      // overlong '/'
  CHECK(json_string("\xe0\x80\xaf") == R"("\udce0\udc80\udcaf")");            // overlong, 3 bytes
  CHECK(json_string("\xed\xa0\x80") == R"("\udced\udca0\udc80")");            // an encoded surrogate
  CHECK(json_string("\xf4\x90\x80\x80") == R"("\udcf4\udc90\udc80\udc80")");  // above U+10FFFF
  CHECK(json_string("\xc3\xbf\xff") == "\"\xc3\xbf\\udcff\"");                // valid, then not
}
