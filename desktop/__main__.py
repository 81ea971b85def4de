import sys

from desktop.launch import opens_the_window

if opens_the_window(sys.argv[1:]):
    from desktop import splash

    splash.show_early_window()  # before the rest of the app is even imported

from desktop.cli import main  # noqa: E402

sys.exit(main())
