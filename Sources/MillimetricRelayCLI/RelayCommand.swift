@main
struct RelayCommand { static func main() {} }
