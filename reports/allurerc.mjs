// Allure 3 report settings: one self-contained index.html that opens from disk.
export default {
  name: "paraseg acceptance",
  plugins: {
    awesome: {
      options: {
        singleFile: true,
        reportLanguage: "en",
      },
    },
  },
};
