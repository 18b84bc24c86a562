from livepledge.cli import main

main()
