// Arch's makepkg.conf defaults (CFLAGS; CXXFLAGS adds one), with the build
// directory mapped as makepkg does: what a makepkg build's compiles carry.

export function makepkgFlags(dir: string, cxx: boolean): string[] {
  return [
    '-march=x86-64',
    '-mtune=generic',
    '-O2',
    '-pipe',
    '-fno-plt',
    '-fexceptions',
    '-Wp,-D_FORTIFY_SOURCE=3',
    '-Wformat',
    '-Werror=format-security',
    '-fstack-clash-protection',
    '-fcf-protection',
    '-fno-omit-frame-pointer',
    '-mno-omit-leaf-frame-pointer',
    '-g',
    `-ffile-prefix-map=${dir}=/usr/src/debug/x`,
    ...(cxx ? ['-Wp,-D_GLIBCXX_ASSERTIONS'] : []),
  ];
}
