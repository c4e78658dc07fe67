#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <clblast.h>
#include <cstring>
#include <map>
#include <string>
#include <unordered_map>
#include "clblast_parameters.h"

extern "C" int aimclr_clblast_retrieve_parameters(void *device, const char *kernel, char *out, size_t capacity) {
    std::unordered_map<std::string, size_t> parameters;
    try {
        auto status = clblast::RetrieveParameters(static_cast<cl_device_id>(device), std::string(kernel),
                                                  clblast::Precision::kSingle, parameters);
        if (status != clblast::StatusCode::kSuccess) { return static_cast<int>(status); }
    } catch (...) {
        return static_cast<int>(clblast::StatusCode::kUnknownError);
    }
    // Sorted by name, so the text is the same on every run.
    std::map<std::string, size_t> sorted(parameters.begin(), parameters.end());
    std::string text;
    for (const auto &entry : sorted) {
        if (!text.empty()) { text += ";"; }
        text += entry.first + "=" + std::to_string(entry.second);
    }
    if (text.size() + 1 > capacity) { return -9999; }
    std::memcpy(out, text.c_str(), text.size() + 1);
    return 0;
}
