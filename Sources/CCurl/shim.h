#ifndef CCURL_SHIM_H
#define CCURL_SHIM_H

#include <curl/curl.h>

/*
 * curl_easy_setopt and curl_easy_getinfo are variadic, so Swift cannot call
 * them ("Variadic function is unavailable"). These typed wrappers pass exactly
 * one argument of the type each option documents, as corelibs-foundation's
 * CFURLSession_easy_setopt_long/_ptr/_int64 do (CFURLSessionInterface.c).
 * Passing the wrong type through a variadic call is undefined behaviour in C,
 * so each wrapper names the option types it may be used with.
 *
 * Only CurlSupport imports this module.
 */

/* CURLOPTTYPE_LONG and CURLOPTTYPE_VALUES options (NOSIGNAL, TIMEOUT_MS, ...). */
static inline CURLcode ccurl_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

/* CURLOPTTYPE_OBJECTPOINT options whose value is data libcurl does not copy
 * (POSTFIELDS, ERRORBUFFER, WRITEDATA, HEADERDATA, XFERINFODATA). */
static inline CURLcode ccurl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

/* CURLOPTTYPE_STRINGPOINT options (URL, USERAGENT, CAINFO, PROXY, PROTOCOLS_STR).
 * libcurl copies these strings (since 7.17.0), so a temporary C string is fine. */
static inline CURLcode ccurl_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

/* CURLOPTTYPE_SLISTPOINT options (HTTPHEADER). libcurl does NOT copy the list:
 * it must stay alive until the next transfer is done or the option is replaced. */
static inline CURLcode ccurl_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}

/* CURLOPTTYPE_OFF_T options (POSTFIELDSIZE_LARGE). */
static inline CURLcode ccurl_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

/* WRITEFUNCTION and HEADERFUNCTION share the curl_write_callback signature. */
static inline CURLcode ccurl_easy_setopt_write_function(CURL *handle, CURLoption option,
                                                        curl_write_callback value) {
    return curl_easy_setopt(handle, option, value);
}

/* XFERINFOFUNCTION. */
static inline CURLcode ccurl_easy_setopt_xferinfo_function(CURL *handle, curl_xferinfo_callback value) {
    return curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, value);
}

/* CURLINFO_LONG infos (RESPONSE_CODE, NUM_CONNECTS, HTTP_VERSION). */
static inline CURLcode ccurl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

/* CURLINFO_OFF_T infos (TOTAL_TIME_T, SIZE_UPLOAD_T). */
static inline CURLcode ccurl_easy_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(handle, info, value);
}

/* CURL_GLOBAL_DEFAULT is a macro built from other macros; give Swift a value. */
static inline long ccurl_global_default_flags(void) {
    return CURL_GLOBAL_DEFAULT;
}

#endif
