#include "core/bounded_line.hpp"

#include <exception>
#include <limits>

namespace carbonmeter {

LineRead read_bounded_line(std::istream& in, std::string& line, std::size_t max_bytes) {
  line.clear();
  std::streambuf* buffer = in.rdbuf();
  if (!in.good() || buffer == nullptr) return LineRead::end;
  for (;;) {
    int c;
    try {
      c = buffer->sbumpc();
    } catch (const std::exception&) {  // libstdc++'s filebuf throws on a read error (a folder)
      in.setstate(std::ios::badbit);
      return LineRead::end;
    }
    if (c == std::char_traits<char>::eof()) {
      in.setstate(std::ios::eofbit);
      return line.empty() ? LineRead::end : LineRead::last;
    }
    if (c == '\n') return LineRead::line;
    if (line.size() == max_bytes) {
      buffer->sungetc();
      return LineRead::too_long;
    }
    line.push_back(static_cast<char>(c));
  }
}

void skip_rest_of_line(std::istream& in) { in.ignore(std::numeric_limits<std::streamsize>::max(), '\n'); }

}  // namespace carbonmeter
