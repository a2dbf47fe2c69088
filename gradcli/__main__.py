from gradcli.main import main

main()
