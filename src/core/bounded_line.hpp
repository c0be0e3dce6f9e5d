// Line-by-line reading of files that may be large (a journal of a long run, a spool) where one
// line must never be read into memory without a bound: a file of zeros without a newline would
// otherwise be taken whole.
#pragma once

#include <cstddef>
#include <istream>
#include <string>

namespace carbonmeter {

enum class LineRead {
  line,      // `line` holds the next line, without its '\n'
  last,      // the file's last line, with no '\n' after it (cut short by a crash while appending)
  too_long,  // longer than max_bytes: `line` holds its start; skip_rest_of_line() goes past it
  end,       // nothing left, or a read error (the stream's badbit is set)
};

LineRead read_bounded_line(std::istream& in, std::string& line, std::size_t max_bytes);
void skip_rest_of_line(std::istream& in);

}  // namespace carbonmeter
